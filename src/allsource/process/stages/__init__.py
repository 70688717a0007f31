"""Built-in processing stages: thin plugins around the libraries in :mod:`allsource.process`,
registered through the same ``register_stages`` hook a third-party stage uses."""
