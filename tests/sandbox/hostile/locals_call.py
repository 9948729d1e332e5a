# expect: forbidden
# locals()
def solution():
    return locals()
