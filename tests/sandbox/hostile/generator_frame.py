# expect: forbidden
# generator frames lead to the caller's globals
def solution():
    g = (x for x in [1])
    return g.gi_frame.f_back.f_globals
