"""Home delivery: the queue and runs, geocoding and routing, proof at the door, the counter
return, cash on delivery."""
