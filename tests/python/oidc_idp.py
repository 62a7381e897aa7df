"""An OIDC identity provider for the tests, on loopback: the client-credentials grant and a JWKS.

Usage: oidc_idp.py CLIENT_ID CLIENT_SECRET LIFETIME_SECONDS
Prints its port, then serves until its stdin closes (the test process ends):
  POST /token  Basic CLIENT_ID:CLIENT_SECRET, grant_type=client_credentials: an RS256 JWT for
               sub=CLIENT_ID, aud=kafka, iss=test-idp, living LIFETIME_SECONDS; otherwise 401.
  GET  /jwks   the RSA public key (kid test-key), as Kafka's JWKS validator reads it.
  GET  /stats  {"granted": N, "refused": M}.
The RSA key is made by openssl at start; signing is PKCS#1 v1.5 with SHA-256 (RFC 7518 RS256).
"""
import base64, hashlib, json, os, re, subprocess, sys, tempfile, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

client_id, client_secret, lifetime = sys.argv[1], sys.argv[2], int(sys.argv[3])

with tempfile.TemporaryDirectory() as d:
    key = os.path.join(d, "key.pem")
    subprocess.run(["openssl", "genrsa", "-out", key, "2048"], check=True, capture_output=True)
    text = subprocess.run(["openssl", "rsa", "-in", key, "-noout", "-text"], check=True,
                          capture_output=True, text=True).stdout

def field(name):
    m = re.search(name + r":\s*\n((?:\s+[0-9a-f:]+\n)+)", text)
    return int(re.sub(r"[\s:]", "", m.group(1)), 16)

n, d = field("modulus"), field("privateExponent")
e = int(re.search(r"publicExponent: (\d+)", text).group(1))
k = (n.bit_length() + 7) // 8

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def uint(i):
    return i.to_bytes((i.bit_length() + 7) // 8, "big")

def sign(message):
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420") + hashlib.sha256(message).digest()
    em = b"\x00\x01" + b"\xff" * (k - 3 - len(digest_info)) + b"\x00" + digest_info
    return pow(int.from_bytes(em, "big"), d, n).to_bytes(k, "big")

def token():
    now = int(time.time())
    header = b64u(json.dumps({"alg": "RS256", "typ": "JWT", "kid": "test-key"}).encode())
    claims = {"sub": client_id, "iat": now, "exp": now + lifetime, "aud": "kafka", "iss": "test-idp",
              "scope": "kafka"}
    payload = b64u(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    return f"{header}.{payload}.{b64u(sign(signing_input))}"

stats = {"granted": 0, "refused": 0}
good = "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/jwks":
            self.answer(200, {"keys": [{"kty": "RSA", "kid": "test-key", "alg": "RS256", "use": "sig",
                                        "n": b64u(uint(n)), "e": b64u(uint(e))}]})
        elif self.path == "/stats":
            self.answer(200, stats)
        else:
            self.answer(404, {})

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        if self.path == "/token" and self.headers.get("Authorization") == good \
                and "grant_type=client_credentials" in body:
            stats["granted"] += 1
            self.answer(200, {"access_token": token(), "token_type": "Bearer", "expires_in": lifetime})
        else:
            stats["refused"] += 1
            self.answer(401, {"error": "invalid_client"})

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
threading.Thread(target=server.serve_forever, daemon=True).start()
sys.stdin.read()
