# expect: error
# a value that contains itself
def solution():
    a = []
    a.append(a)
    return a
