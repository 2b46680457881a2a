"""One place that turns domain and HTTP errors into answers: JSON for the API, pages otherwise."""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from postal.core.errors import DomainError, ValidationFailed

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(error: DomainError):
    body = {"code": error.code, "message": error.message}
    if error.field:
        body["field"] = error.field
    many = getattr(error, "errors", None) or {}
    if len(many) > 1:  # every field's problem, when several were checked at once
        body["errors"] = [{"field": f, "message": m} for f, m in many.items()]
    if wants_json():
        return jsonify(error=body), error.status
    return render_template("error.html", status=error.status, error=body), error.status


def database_unavailable():
    """503: the database could not be reached or could not commit; nothing was saved."""
    body = {
        "code": "database_unavailable",
        "message": "the database is unavailable; nothing was saved, try again shortly",
    }
    if wants_json():
        return jsonify(error=body), 503
    return render_template("error.html", status=503, error=body), 503


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def _domain(error: DomainError):
        from postal.extensions import db

        db.session.rollback()
        return error_response(error)

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        message = error.description or error.name
        detail = getattr(error, "detail", None) or getattr(error, "data", None)
        if isinstance(detail, dict) and detail.get("json"):
            message = f"invalid request body: {detail['json']}"
        body = {"code": code, "message": message}
        if wants_json():
            response = jsonify(error=body)
        else:
            response = app.response_class(
                render_template("error.html", status=error.code, error=body), mimetype="text/html"
            )
        response.status_code = error.code or 500
        for key, value in (error.get_headers() if error.code != 200 else []):
            if key.lower() not in ("content-type", "content-length"):
                response.headers[key] = value
        return response

    @app.errorhandler(CSRFError)
    def _csrf(error: CSRFError):
        from postal.extensions import db

        db.session.rollback()
        body = {"code": "csrf_failed", "message": error.description}
        if wants_json():
            return jsonify(error=body), 400
        return render_template("error.html", status=400, error=body), 400

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError):
        from postal.extensions import db

        log.error("database unavailable: %s", error)
        db.session.rollback()
        return database_unavailable()

    @app.errorhandler(DataError)
    def _data(error: DataError):
        from postal.extensions import db

        db.session.rollback()
        return error_response(ValidationFailed(
            "a value cannot be stored (out of range or with forbidden characters)"))

    @app.errorhandler(500)
    def _internal(error):
        from postal.extensions import db

        db.session.rollback()  # the page itself must not fail on an aborted transaction
        body = {
            "code": "internal_error",
            "message": "an unexpected error occurred; nothing was saved",
        }
        if wants_json():
            return jsonify(error=body), 500
        return render_template("error.html", status=500, error=body), 500


ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": "string"},
                "errors": {
                    "type": "array",
                    "description": "every field's problem, when several were checked at once",
                    "items": {"type": "object", "properties": {
                        "field": {"type": "string"}, "message": {"type": "string"}}},
                },
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}


def install_api_errors(app) -> None:
    """APIFlask's own errors (schema validation, abort) in the same JSON shape as ours."""
    app.config["HTTP_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_SCHEMA"] = ERROR_SCHEMA
    app.config["VALIDATION_ERROR_STATUS_CODE"] = 422

    @app.error_processor
    def _apiflask_error(error):
        from werkzeug.http import HTTP_STATUS_CODES

        status = error.status_code
        if status == 400:
            # a body that is not JSON at all is bad input like any other: one documented answer
            # (a missing CSRF token has its own handler and stays 400)
            status = 422
        name = HTTP_STATUS_CODES.get(status, "error").lower().replace(" ", "_")
        body = {"code": "validation_failed" if status == 422 else name,
                "message": str(error.message)}
        detail = error.detail or {}
        for location in ("json", "query", "form", "files", "path"):
            fields = detail.get(location) if isinstance(detail, dict) else None
            if fields:
                name, messages = next(iter(fields.items()))
                body["field"] = str(name)
                body["message"] = f"{name}: {_first(messages)}"
                break
        if not wants_json():
            page = render_template("error.html", status=status, error=body)
            return page, status, {**(error.headers or {}), "Content-Type": "text/html"}
        return {"error": body}, status, error.headers


def _first(messages) -> str:
    if isinstance(messages, dict):
        return _first(next(iter(messages.values())))
    if isinstance(messages, list | tuple):
        return str(messages[0]) if messages else "invalid"
    return str(messages)
