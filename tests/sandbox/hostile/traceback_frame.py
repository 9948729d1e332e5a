# expect: forbidden
# an exception's traceback leads to frames
def solution():
    try:
        1 / 0
    except ZeroDivisionError as exc:
        return exc.__traceback__.tb_frame
