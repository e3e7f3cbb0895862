"""The userdb Chalice app: creates it, registers middleware and blueprints; nothing else."""

from chalice.app import Chalice

from chalicelib.api import websocket
from chalicelib.api.auth import auth_routes
from chalicelib.api.batch import batch_routes
from chalicelib.api.collections import collections_routes
from chalicelib.api.fanout import fanout_routes
from chalicelib.api.health import health_routes
from chalicelib.api.http import framework_errors, json_bodies_only, security_headers
from chalicelib.api.me import me_routes
from chalicelib.api.notes import notes_routes
from chalicelib.api.oauth import oauth_routes
from chalicelib.api.openapi import openapi_routes
from chalicelib.api.sync import sync_routes
from chalicelib.observability import log_context
from chalicelib.services import declared_collections
from chalicelib.settings import Settings

# A malformed collections file stops the app here, at start-up, naming the file and the problem.
declared_collections(Settings())

# Powertools owns logging: Chalice's own set-up would put the shared "userdb" logger at ERROR.
app = Chalice(app_name="userdb", configure_logs=False)
app.experimental_feature_flags.update(["WEBSOCKETS"])

app.register_middleware(log_context, "all")
app.register_middleware(security_headers, "http")
app.register_middleware(framework_errors, "http")
app.register_middleware(json_bodies_only, "http")

app.register_blueprint(health_routes)
app.register_blueprint(auth_routes)
app.register_blueprint(me_routes)
app.register_blueprint(oauth_routes)
app.register_blueprint(notes_routes)
app.register_blueprint(collections_routes)
app.register_blueprint(batch_routes)
app.register_blueprint(sync_routes)
app.register_blueprint(fanout_routes)
app.register_blueprint(openapi_routes)

# Module attributes, because Lambda's handler strings name them (`app.connect`, ...).
connect = app.on_ws_connect()(websocket.connect)
message = app.on_ws_message()(websocket.message)
disconnect = app.on_ws_disconnect()(websocket.disconnect)
