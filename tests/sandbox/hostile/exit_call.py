# expect: forbidden
# exit()
def solution():
    exit(0)
