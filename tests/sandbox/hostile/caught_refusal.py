# expect: forbidden
# catching a refusal does not hide it
def solution():
    try:
        import os
    except BaseException:
        pass
    return 1
