# One image for every process of the platform: web (gunicorn), Celery workers, beat and Flower.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=wizamart.settings

WORKDIR /app

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# Static files are baked into the image and served by WhiteNoise.
RUN SECRET_KEY=build-only python manage.py collectstatic --noinput

RUN useradd --create-home --uid 10001 wizamart \
    && mkdir -p /app/private /app/media \
    && chown -R wizamart /app/private /app/media
USER wizamart

EXPOSE 8000
CMD ["gunicorn", "wizamart.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--timeout", "60"]
