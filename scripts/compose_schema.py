"""Write schema/hypertest.schema.json: core's part of the config schema with every test runner's and
provider's fragment (run it after changing one; tests/test_config_schema.py checks it was)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypertest.core.schema_compose import composed_schema  # noqa: E402

if __name__ == "__main__":
    target = ROOT / "schema" / "hypertest.schema.json"
    target.write_text(json.dumps(composed_schema(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {target}")
