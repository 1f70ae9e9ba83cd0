# One image for every process of the platform: web (gunicorn), Celery workers, beat and Flower;
# and the proxy image (nginx with the collected static files), built from the same sources.
FROM python:3.11-slim AS app

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=wizamart.settings

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are collected into the image: nginx serves them in compose (the proxy stage below
# copies them), WhiteNoise serves them when the app runs without the proxy.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 wizamart \
    && mkdir -p /app/private /app/media \
    && chown -R wizamart /app/private /app/media
USER wizamart

EXPOSE 8000
# Worker class, threads, timeouts: gunicorn.conf.py (threads, so slow clients hold a thread, not a worker).
CMD ["gunicorn", "-c", "gunicorn.conf.py", "wizamart.wsgi:application"]

# The buffering reverse proxy in front of gunicorn: `docker build --target proxy .`
FROM nginx:1.27-alpine AS proxy
COPY deploy/nginx/default.conf /etc/nginx/conf.d/default.conf
COPY --from=app /app/staticfiles /usr/share/nginx/static

# The default target is the app image.
FROM app
