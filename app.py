"""The userdb Chalice app: creates it, registers middleware and blueprints; nothing else."""

from chalice.app import Chalice

from chalicelib.api.auth import auth_routes
from chalicelib.api.health import health_routes
from chalicelib.api.http import framework_errors
from chalicelib.api.me import me_routes
from chalicelib.api.oauth import oauth_routes
from chalicelib.observability import log_context

app = Chalice(app_name="userdb")

app.register_middleware(log_context, "all")
app.register_middleware(framework_errors, "http")

app.register_blueprint(health_routes)
app.register_blueprint(auth_routes)
app.register_blueprint(me_routes)
app.register_blueprint(oauth_routes)
