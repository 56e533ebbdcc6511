"""A generic S3 tool for the S3 tests (dman-s3, dman-cli), on boto3 (which
moto brings); the tests run it through `dman_test_support::s3::s3tool`.

Usage:
    s3tool.py ENDPOINT create-bucket BUCKET
    s3tool.py ENDPOINT upload DIR BUCKET PREFIX      # every file below DIR
    s3tool.py ENDPOINT download BUCKET PREFIX DIR    # every key below PREFIX/

Credentials and region come from the environment (AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY, AWS_REGION). Keys are `PREFIX/<path relative to
DIR>`, with `/` separators, as `aws s3 sync` writes them. Prints one line per
object and `ok N objects` at the end.
"""
import os
import sys

import boto3
from botocore.config import Config


def client(endpoint):
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}),
    )


def key_of(prefix, rel):
    return f"{prefix}/{rel}" if prefix else rel


def upload(s3, root, bucket, prefix):
    count = 0
    for folder, _, files in os.walk(root):
        for name in sorted(files):
            path = os.path.join(folder, name)
            rel = os.path.relpath(path, root).replace(os.sep, "/")
            key = key_of(prefix, rel)
            s3.upload_file(path, bucket, key)
            print(f"uploaded {key}")
            count += 1
    return count


def download(s3, bucket, prefix, root):
    count = 0
    paginator = s3.get_paginator("list_objects_v2")
    start = f"{prefix}/" if prefix else ""
    for page in paginator.paginate(Bucket=bucket, Prefix=start):
        for obj in page.get("Contents", []):
            key = obj["Key"]
            rel = key[len(start):]
            path = os.path.join(root, *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, key, path)
            print(f"downloaded {key}")
            count += 1
    return count


def main():
    endpoint, command, *args = sys.argv[1:]
    s3 = client(endpoint)
    if command == "create-bucket":
        (bucket,) = args
        s3.create_bucket(Bucket=bucket)
        count = 0
    elif command == "upload":
        root, bucket, prefix = args
        count = upload(s3, root, bucket, prefix)
    elif command == "download":
        bucket, prefix, root = args
        count = download(s3, bucket, prefix, root)
    else:
        sys.exit(f"unknown command {command!r}")
    print(f"ok {count} objects")


if __name__ == "__main__":
    main()
