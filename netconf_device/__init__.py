"""netconf-device: a software Juniper MX router with inline IPsec."""
