"""gunicorn's configuration file for the web container (``gunicorn -c docker/gunicorn.conf.py``).

Bind address, workers and the trusted proxy addresses stay on the command line in
docker/compose.yaml, so they are visible beside the other service settings.
"""

import gunicorn
import gunicorn.http.wsgi

# gunicorn writes ``Server: <gunicorn.http.wsgi.SERVER>`` on every response, naming itself to
# anyone who asks (and so which advisories apply). It has no option to leave the header out;
# its module constant is what each response reads, so a neutral name replaces it here. Setting
# only ``gunicorn.SERVER`` would not do: ``gunicorn.http.wsgi`` imported its own copy already.
SERVER_NAME = "prefroute"
gunicorn.SERVER = SERVER_NAME
gunicorn.http.wsgi.SERVER = SERVER_NAME
