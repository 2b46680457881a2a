"""The floor for bench_load.py: a bare Flask route on the same gunicorn setup as postal."""

from flask import Flask, jsonify

app = Flask(__name__)


@app.get("/")
def index():
    return jsonify(ok=True)
