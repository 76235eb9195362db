"""The AWS provider: ECR for the image, Lambda for the units, S3 for artifacts, reports and manifests."""
