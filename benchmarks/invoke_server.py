"""A loopback stand-in for the Lambda Invoke API, cheap enough never to be the bottleneck (asyncio).

It answers every `POST /2015-03-31/functions/<name>/invocations` after a fixed latency with a small
unit result, and counts the requests. Run: python benchmarks/invoke_server.py PORT LATENCY_S
"""

from __future__ import annotations

import asyncio
import json
import sys

RESULT = json.dumps({"schemaVersion": 1, "status": "ok", "tests": []}).encode()
HEAD = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amz-Executed-Version: $LATEST\r\n"
        b"Content-Length: " + str(len(RESULT)).encode() + b"\r\n\r\n")


async def serve(port: int, latency_s: float) -> None:
    """Serve until killed."""
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                await asyncio.sleep(latency_s)
                writer.write(HEAD + RESULT)
                served += 1
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=4096, limit=1 << 20)
    print("ready", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), float(sys.argv[2])))
