# A HAPI FHIR JPA server (R4) as the service's exchange partner: the same application the test
# suite builds (tools/hapi-jpa), here on PostgreSQL. Build from the repository root:
#   docker build -f docker/hapi.Dockerfile -t cm-fhir-hapi .
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY tools/hapi-jpa /src/tools/hapi-jpa
RUN CM_FHIR_CACHE_DIR=/build bash tools/hapi-jpa/setup.sh

FROM eclipse-temurin:17-jre
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10002 hapi \
    && useradd --system --uid 10002 --gid hapi --no-create-home --shell /usr/sbin/nologin hapi
COPY --from=build /build/hapi-jpa/hapi-jpa.jar /opt/hapi/hapi-jpa.jar
# the server's options (tools/hapi-jpa/README.md): listen on the container's network
ENV HAPI_JPA_ADDRESS=0.0.0.0 \
    HAPI_JPA_PORT=8080 \
    JAVA_OPTS="-Xmx1g -XX:+UseParallelGC"
USER 10002:10002
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=240s --retries=6 \
    CMD curl -fsS -o /dev/null http://127.0.0.1:8080/fhir/metadata || exit 1
ENTRYPOINT ["sh", "-c", "exec java $JAVA_OPTS -jar /opt/hapi/hapi-jpa.jar \"$@\"", "hapi-jpa"]
