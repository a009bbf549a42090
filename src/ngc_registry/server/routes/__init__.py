"""HTTP routes. Each route names its action and scope; `policy.authorize` decides."""
