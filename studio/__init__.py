"""The studio: a local web page to watch, hear, edit and re-compose (``framescore studio``).

A FastAPI app (:mod:`.app`) over the same pipeline and plan types as the command line, a job queue with one
folder per job (:mod:`.jobs`), and a static page in plain JavaScript (``static/``: no build step, nothing fetched
from the internet).
"""
