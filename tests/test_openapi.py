"""The OpenAPI document describes every route the app serves, and is itself served."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient


def test_every_route_is_described(app: Flask, client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    described = {
        (path, method.upper())
        for path, operations in document["paths"].items()
        for method in operations
    }
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert served == described


def test_document_has_no_dangling_local_refs(client: FlaskClient) -> None:
    text = client.get("/openapi.json").get_data(as_text=True)
    assert '"$ref"' not in text
    assert '"$defs"' not in text
