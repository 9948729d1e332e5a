# expect: timeout
# a loop that never ends
def solution():
    while True:
        pass
