# expect: forbidden
# os.fork
import os
def solution():
    return os.fork()
