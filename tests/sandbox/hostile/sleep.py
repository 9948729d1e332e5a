# expect: forbidden
# sleeping uses no CPU time
import time
def solution():
    time.sleep(100)
