"""`linli simulate`: realistic traffic from the registered devices through the gateway's real
HTTP and MQTT ingress, for the demo and for the benchmarks, with fault injection."""
