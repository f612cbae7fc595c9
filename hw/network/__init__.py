"""The network between components: the network interface, frames, links and the switch."""
