"""The WebSocket entry points: the responders' and the coordinators' sockets (consumers.py), their
routes, the origin check, and the watch that closes sockets whose channel-layer membership was lost.
They call the actions (backend.dispatch) and read the stored events (backend.realtime), as the API
views do; nothing below imports them."""
