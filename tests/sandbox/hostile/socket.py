# expect: forbidden
# network
import socket
def solution():
    return socket.create_connection(('127.0.0.1', 80))
