"""The bundle format is documented by its schema, kept in step with the code that reads it."""

from __future__ import annotations

import pipeline
from pipeline import results as bundle
from tests.support import REPO


def test_the_documented_schema_is_the_one_loom_reads() -> None:
    documented = (REPO / "docs" / "bundle.schema.json").read_text()
    assert documented == bundle.bundle_json_schema(), "docs/bundle.schema.json is stale: regenerate it (make docs)"


def test_verify_bundle_is_public_api() -> None:
    assert pipeline.verify_bundle is bundle.verify_bundle and pipeline.BundleReport is bundle.BundleReport
