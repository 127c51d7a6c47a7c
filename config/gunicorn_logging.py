"""gunicorn's access log without URL tokens (see config/logs.py). The Procfile's web process
uses it: `--logger-class config.gunicorn_logging.RedactingLogger`."""

from gunicorn.glogging import Logger

from config.logs import redact


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in atoms.items()}
