# expect: forbidden
# the same through getattr
def solution():
    g = (x for x in [1])
    frame = getattr(g, 'gi_frame')
    return getattr(frame, 'f_back')
