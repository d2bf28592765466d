"""Flask extensions, created unbound and bound to each app by `create_app` (`init_app`)."""

from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
