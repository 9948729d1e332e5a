# expect: forbidden
# threading
import threading
def solution():
    threading.Thread(target=print).start()
