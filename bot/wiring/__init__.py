"""Channel wirings: one module per channel plugs it into the service; `registry` lists them."""
