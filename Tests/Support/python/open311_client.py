#!/usr/bin/python3
"""Drives intake's Open311 API with the PyPI `georeport` client (GeoReport v2), JSON and XML.

georeport 0.3.1 has no call that creates a request, so the POST goes through `requests`
(the HTTP library georeport itself uses), form-encoded as the specification says.

    open311_client.py ROOT API_KEY SERVICE_CODE LAT LONG
Prints one JSON object with every answer.
"""
import json
import sys

import requests
from georeport import GeoReport

root, key, code, lat, long = sys.argv[1:6]
out = {}
for fmt in ("json", "xml"):
    client = GeoReport(root, api_key=key, output_format=fmt)
    out[f"services_{fmt}"] = client.get_service_list()
    out[f"definition_{fmt}"] = client.get_service_definition(code)
posted = requests.post(f"{root}/requests.json", data={
    "api_key": key, "service_code": code, "lat": lat, "long": long,
    "description": "村口路灯不亮 — street light out at the village entrance",
    "first_name": "Li", "last_name": "Si", "phone": "13900003333", "email": "lisi@example.org",
    "attribute[language]": "en", "device_id": "phone-42", "media_url": "https://example.org/light.jpg",
}, timeout=10)
out["post_status"] = posted.status_code
out["post"] = posted.json()
request_id = out["post"][0]["service_request_id"]
for fmt in ("json", "xml"):
    out[f"request_{fmt}"] = GeoReport(root, output_format=fmt).get_service_request(request_id)
out["list"] = GeoReport(root).get_service_requests(service_request_id=request_id)
out["open"] = GeoReport(root).get_service_requests(status="open", service_code=code)
print(json.dumps(out, ensure_ascii=False, default=str))
