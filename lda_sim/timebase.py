"""Time constants shared by every layer: the model's clock runs in days."""

#: Days in a year (Julian year: leap years on average).
DAYS_PER_YEAR = 365.25
#: Length of a reporting month in days (a twelfth of a year).
MONTH_DAYS = DAYS_PER_YEAR / 12
