"""A small OpenID Connect provider for the tests, served by werkzeug in a thread on 127.0.0.1:
discovery, /authorize (answers at once for the person the test chose), /token (checks the
client's secret, the code, the redirect URI and the PKCE verifier) and /jwks. `tamper` makes
it sign a bad ID token (another key, a past expiry, another nonce or audience)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

CLIENT_ID = "postal-test"
CLIENT_SECRET = "s3cret-for-tests"
KID = "test-key"


class Provider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": KID})
        self.other_key = RSAKey.generate_key(2048, parameters={"kid": KID})  # same kid
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.issuer = f"http://127.0.0.1:{self.server.server_port}"
        self.reset()

    def reset(self):
        self.person: dict = {"sub": "user-1", "preferred_username": "lan.nguyen",
                             "name": "Nguyễn Thị Lan", "groups": ["motcua-clerks"]}
        self.tamper: dict = {}
        self.codes: dict[str, dict] = {}
        self.authorize_requests: list[dict] = []
        self.token_requests = 0

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # ---- the endpoints -------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        handler = {
            "/.well-known/openid-configuration": self.discovery,
            "/authorize": self.authorize,
            "/token": self.token,
            "/jwks": self.jwks,
        }.get(request.path)
        response = handler(request) if handler else Response("not found", 404)
        return response(environ, start_response)

    @staticmethod
    def _json(data, status=200):
        return Response(json.dumps(data), status, content_type="application/json")

    def discovery(self, request):
        return self._json({
            "issuer": self.tamper.get("discovery_issuer", self.issuer),
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
        })

    def jwks(self, request):
        return self._json({"keys": [self.key.as_dict(private=False)]})

    def authorize(self, request):
        args = request.args.to_dict()
        self.authorize_requests.append(args)
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "code":
            return Response("bad request", 400)
        code = secrets.token_urlsafe(16)
        self.codes[code] = {"args": args, "person": dict(self.person)}
        query = urlencode({"code": code, "state": args.get("state", "")})
        return Response("", 302, headers={"Location": f"{args['redirect_uri']}?{query}"})

    def token(self, request):
        self.token_requests += 1
        auth = request.headers.get("Authorization", "")
        expected = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if auth != f"Basic {expected}":
            return self._json({"error": "invalid_client"}, 401)
        grant = self.codes.pop(request.form.get("code", ""), None)
        if grant is None or request.form.get("grant_type") != "authorization_code":
            return self._json({"error": "invalid_grant"}, 400)
        args = grant["args"]
        verifier = request.form.get("code_verifier", "")
        challenge = base64.urlsafe_b64encode(
            hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if (args.get("code_challenge_method") != "S256" or challenge != args.get("code_challenge")
                or request.form.get("redirect_uri") != args.get("redirect_uri")):
            return self._json({"error": "invalid_grant", "error_description": "PKCE"}, 400)
        now = int(time.time())
        claims = {
            "iss": self.tamper.get("iss", self.issuer), "aud": self.tamper.get("aud", CLIENT_ID),
            "iat": now, "exp": now + self.tamper.get("exp_in", 300),
            "nonce": self.tamper.get("nonce", args.get("nonce")), **grant["person"],
        }
        if "azp" in self.tamper:
            claims["azp"] = self.tamper["azp"]
        key = self.other_key if self.tamper.get("other_key") else self.key
        id_token = jwt.encode({"alg": "RS256", "kid": KID}, claims, key)
        return self._json({"access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                           "expires_in": 300, "id_token": id_token})
