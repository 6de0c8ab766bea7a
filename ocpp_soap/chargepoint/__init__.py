"""The charge point simulator: a domain core in plain Python (``core``), its inbound operation table
(``handlers``), and later the wire glue that serves it over OCPP-S."""
