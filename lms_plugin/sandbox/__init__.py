"""The sandbox LMS: a small LTI 1.3 platform inside the product, for the demo and for tests.

It speaks real LTI 1.3 to the tool over HTTP (signed JWTs, OIDC redirects, JWKS fetches); it never
calls the tool's Python code. Enabled with SANDBOX_ENABLED (on in `lms-plugin demo`).
"""
