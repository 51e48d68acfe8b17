package cmfhir.hapi;

import ca.uhn.fhir.batch2.jobs.config.Batch2JobsConfig;
import ca.uhn.fhir.jpa.api.config.ThreadPoolFactoryConfig;
import ca.uhn.fhir.jpa.batch2.JpaBatch2Config;
import ca.uhn.fhir.jpa.config.r4.JpaR4Config;
import ca.uhn.fhir.jpa.subscription.channel.config.SubscriptionChannelConfig;
import ca.uhn.fhir.jpa.subscription.match.config.SubscriptionProcessorConfig;
import ca.uhn.fhir.jpa.subscription.submit.config.SubscriptionSubmitterConfig;
import ca.uhn.fhir.rest.server.RestfulServer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.autoconfigure.thymeleaf.ThymeleafAutoConfiguration;
import org.springframework.boot.web.servlet.ServletRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;

/**
 * A HAPI FHIR JPA server (R4) for cm-fhir's tests and benchmarks: a RestfulServer on /fhir,
 * H2 in memory by default, PostgreSQL when given a jdbc:postgresql URL, rest-hook Subscriptions
 * on, cached search results never reused (a search right after a write sees it).
 *
 * <p>Options (each also read from the environment variable in brackets; Spring Boot's own
 * properties such as --server.port=N are accepted too):
 *
 * <pre>
 *   --port N             [HAPI_JPA_PORT]          default 8080
 *   --address HOST       [HAPI_JPA_ADDRESS]       default 127.0.0.1 (0.0.0.0 in a container)
 *   --jdbc-url URL       [HAPI_JPA_JDBC_URL]      default jdbc:h2:mem:hapi
 *   --jdbc-user NAME     [HAPI_JPA_JDBC_USER]     default sa (H2) / postgres (PostgreSQL)
 *   --jdbc-password PW   [HAPI_JPA_JDBC_PASSWORD] default empty
 *   --pool N             [HAPI_JPA_POOL]          JDBC pool size, default 10
 *   --reuse-cached-searches-ms N [HAPI_JPA_REUSE_CACHED_SEARCHES_MS]
 *                        answer a search repeated within N ms from the first one's results
 *                        (HAPI's default: 60000); default 0: never (tests see their writes)
 * </pre>
 */
@SpringBootApplication(exclude = {ThymeleafAutoConfiguration.class},
    excludeName = {
      "org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchRestClientAutoConfiguration",
      "org.springframework.boot.autoconfigure.elasticsearch.ElasticsearchClientAutoConfiguration",
      "org.springframework.boot.autoconfigure.data.elasticsearch.ElasticsearchDataAutoConfiguration",
      "org.springframework.boot.autoconfigure.quartz.QuartzAutoConfiguration"})
@Import({
  JpaR4Config.class,
  ThreadPoolFactoryConfig.class,
  JpaBatch2Config.class,
  Batch2JobsConfig.class,
  SubscriptionSubmitterConfig.class,
  SubscriptionProcessorConfig.class,
  SubscriptionChannelConfig.class,
  HapiJpaConfig.class
})
public class HapiJpaApplication {

  private static final String[][] OPTIONS = {
    // option, environment variable, Spring property
    {"--port", "HAPI_JPA_PORT", "server.port"},
    {"--address", "HAPI_JPA_ADDRESS", "server.address"},
    {"--jdbc-url", "HAPI_JPA_JDBC_URL", "spring.datasource.url"},
    {"--jdbc-user", "HAPI_JPA_JDBC_USER", "spring.datasource.username"},
    {"--jdbc-password", "HAPI_JPA_JDBC_PASSWORD", "spring.datasource.password"},
    {"--pool", "HAPI_JPA_POOL", "spring.datasource.hikari.maximum-pool-size"},
    {"--reuse-cached-searches-ms", "HAPI_JPA_REUSE_CACHED_SEARCHES_MS", "hapi.jpa.reuse-cached-searches-ms"},
  };

  public static void main(String[] args) {
    Map<String, Object> props = new HashMap<>();
    props.put("server.port", "8080");
    props.put("server.address", "127.0.0.1");
    props.put("spring.datasource.url", "jdbc:h2:mem:hapi");
    props.put("spring.datasource.hikari.maximum-pool-size", "10");
    for (String[] option : OPTIONS) {
      String value = System.getenv(option[1]);
      if (value != null && !value.isEmpty()) {
        props.put(option[2], value);
      }
    }
    List<String> rest = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      String arg = args[i];
      String matched = null;
      for (String[] option : OPTIONS) {
        if (arg.equals(option[0]) || arg.startsWith(option[0] + "=")) {
          matched = option[2];
          String value;
          if (arg.equals(option[0])) {
            if (i + 1 >= args.length) {
              System.err.println("hapi-jpa: " + option[0] + " needs a value");
              System.exit(2);
            }
            value = args[++i];
          } else {
            value = arg.substring(option[0].length() + 1);
          }
          props.put(matched, value);
          break;
        }
      }
      if (matched == null) {
        if (arg.equals("--help") || arg.equals("-h")) {
          System.out.println("usage: java -jar hapi-jpa.jar [--port N] [--address HOST] "
              + "[--jdbc-url URL] [--jdbc-user NAME] [--jdbc-password PW] [--pool N] "
              + "[--reuse-cached-searches-ms N]");
          return;
        }
        rest.add(arg);
      }
    }
    String url = String.valueOf(props.get("spring.datasource.url"));
    boolean postgres = url.toLowerCase(Locale.ROOT).startsWith("jdbc:postgresql:");
    if (postgres) {
      props.put("spring.datasource.driver-class-name", "org.postgresql.Driver");
      props.putIfAbsent("spring.datasource.username", "postgres");
      props.put("spring.jpa.properties.hibernate.dialect",
          "ca.uhn.fhir.jpa.model.dialect.HapiFhirPostgresDialect");
    } else if (url.toLowerCase(Locale.ROOT).startsWith("jdbc:h2:")) {
      props.put("spring.datasource.driver-class-name", "org.h2.Driver");
      props.putIfAbsent("spring.datasource.username", "sa");
      props.put("spring.jpa.properties.hibernate.dialect",
          "ca.uhn.fhir.jpa.model.dialect.HapiFhirH2Dialect");
    } else {
      System.err.println("hapi-jpa: only jdbc:h2: and jdbc:postgresql: URLs are supported");
      System.exit(2);
    }
    props.putIfAbsent("spring.datasource.password", "");
    SpringApplication app = new SpringApplication(HapiJpaApplication.class);
    app.setDefaultProperties(props);
    app.run(rest.toArray(new String[0]));
    System.out.println("hapi-jpa: ready on http://" + props.get("server.address") + ":"
        + props.get("server.port") + "/fhir");
  }

  /** The FHIR endpoint: /fhir/*. */
  @Bean
  public ServletRegistrationBean<RestfulServer> hapiServletRegistration(RestfulServer server) {
    ServletRegistrationBean<RestfulServer> registration = new ServletRegistrationBean<>(server, "/fhir/*");
    registration.setLoadOnStartup(1);
    return registration;
  }
}
