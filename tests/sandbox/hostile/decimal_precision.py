# expect: memory|timeout
# an enormous decimal precision
import decimal
def solution():
    decimal.getcontext().prec = decimal.MAX_PREC
    return str(decimal.Decimal(1) / 7)
