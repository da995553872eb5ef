"""`linli gateway`: device ingress over HTTP push (vendor adapters) and MQTT."""
