package cmfhir.hapi;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.jpa.api.IDaoRegistry;
import ca.uhn.fhir.jpa.api.config.JpaStorageSettings;
import ca.uhn.fhir.jpa.api.dao.IFhirSystemDao;
import ca.uhn.fhir.jpa.binstore.DatabaseBinaryContentStorageSvcImpl;
import ca.uhn.fhir.jpa.config.util.HapiEntityManagerFactoryUtil;
import ca.uhn.fhir.jpa.config.util.ResourceCountCacheUtil;
import ca.uhn.fhir.jpa.dao.FulltextSearchSvcImpl;
import ca.uhn.fhir.jpa.dao.IFulltextSearchSvc;
import ca.uhn.fhir.jpa.dao.search.HSearchSortHelperImpl;
import ca.uhn.fhir.jpa.dao.search.IHSearchSortHelper;
import ca.uhn.fhir.jpa.model.config.PartitionSettings;
import ca.uhn.fhir.jpa.model.config.SubscriptionSettings;
import ca.uhn.fhir.jpa.model.entity.StorageSettings;
import ca.uhn.fhir.jpa.provider.DaoRegistryResourceSupportedSvc;
import ca.uhn.fhir.jpa.provider.IJpaSystemProvider;
import ca.uhn.fhir.jpa.provider.JpaCapabilityStatementProvider;
import ca.uhn.fhir.jpa.provider.SubscriptionTriggeringProvider;
import ca.uhn.fhir.jpa.search.DatabaseBackedPagingProvider;
import ca.uhn.fhir.jpa.search.IStaleSearchDeletingSvc;
import ca.uhn.fhir.jpa.search.StaleSearchDeletingSvcImpl;
import ca.uhn.fhir.jpa.subscription.match.deliver.email.IEmailSender;
import ca.uhn.fhir.jpa.util.ResourceCountCache;
import ca.uhn.fhir.narrative2.NullNarrativeGenerator;
import ca.uhn.fhir.rest.api.EncodingEnum;
import ca.uhn.fhir.rest.api.IResourceSupportedSvc;
import ca.uhn.fhir.rest.server.IncomingRequestAddressStrategy;
import ca.uhn.fhir.rest.server.RestfulServer;
import ca.uhn.fhir.rest.server.provider.ResourceProviderFactory;
import ca.uhn.fhir.rest.server.util.ISearchParamRegistry;
import jakarta.persistence.EntityManagerFactory;
import java.util.Optional;
import javax.sql.DataSource;
import org.hibernate.boot.model.naming.CamelCaseToUnderscoresNamingStrategy;
import org.hibernate.cfg.AvailableSettings;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.beans.factory.config.ConfigurableListableBeanFactory;
import org.springframework.boot.autoconfigure.orm.jpa.JpaProperties;
import org.springframework.boot.orm.jpa.hibernate.SpringImplicitNamingStrategy;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.Primary;
import org.springframework.orm.jpa.JpaTransactionManager;
import org.springframework.orm.jpa.LocalContainerEntityManagerFactoryBean;
import org.springframework.transaction.annotation.EnableTransactionManagement;

/**
 * The beans HAPI's JPA configuration (JpaR4Config) leaves to the application, in the spirit of
 * hapi-fhir-jpaserver-starter but reduced to what a test partner needs: storage settings, the
 * entity manager factory on Spring Boot's DataSource, paging in the database, rest-hook
 * subscriptions, and the RestfulServer with the resource providers and the system provider.
 */
@Configuration
@EnableTransactionManagement
public class HapiJpaConfig {

  @Bean
  public JpaStorageSettings jpaStorageSettings(
      @Value("${hapi.jpa.reuse-cached-searches-ms:0}") long reuseCachedSearchesMs) {
    JpaStorageSettings settings = new JpaStorageSettings();
    // by default a search right after a write must see it: never answer from a cached search
    // (HAPI's own default reuses a search's results for 60 s; the benchmark may ask for it)
    settings.setReuseCachedSearchResultsForMillis(reuseCachedSearchesMs > 0 ? reuseCachedSearchesMs : null);
    settings.setIndexMissingFields(StorageSettings.IndexEnabledEnum.DISABLED);
    settings.setAllowMultipleDelete(true);
    settings.setExpungeEnabled(true);
    settings.setDeleteExpungeEnabled(true);
    settings.setAllowContainsSearches(true);
    return settings;
  }

  @Bean
  public SubscriptionSettings subscriptionSettings() {
    SubscriptionSettings settings = new SubscriptionSettings();
    settings.addSupportedSubscriptionType(
        org.hl7.fhir.dstu2.model.Subscription.SubscriptionChannelType.RESTHOOK);
    // a new or changed Subscription is active at once, not at the next 60 s poll
    settings.setSubscriptionChangeQueuedImmediately(true);
    return settings;
  }

  @Bean
  public PartitionSettings partitionSettings() {
    return new PartitionSettings();
  }

  @Bean
  public IEmailSender emailSender() {
    return details -> {
      throw new UnsupportedOperationException("email subscriptions are not enabled");
    };
  }

  @Bean
  public DatabaseBinaryContentStorageSvcImpl databaseBinaryStorageSvc() {
    return new DatabaseBinaryContentStorageSvcImpl();
  }

  @Bean
  public IFulltextSearchSvc fullTextSearchSvc() {
    return new FulltextSearchSvcImpl();
  }

  @Bean
  public IStaleSearchDeletingSvc staleSearchDeletingSvc() {
    return new StaleSearchDeletingSvcImpl();
  }

  @Bean
  public DatabaseBackedPagingProvider databaseBackedPagingProvider() {
    DatabaseBackedPagingProvider paging = new DatabaseBackedPagingProvider();
    paging.setDefaultPageSize(20);
    paging.setMaximumPageSize(200);
    return paging;
  }

  @Bean
  public IResourceSupportedSvc resourceSupportedSvc(IDaoRegistry daoRegistry) {
    return new DaoRegistryResourceSupportedSvc(daoRegistry);
  }

  @Bean(name = "myResourceCountsCache")
  public ResourceCountCache resourceCountsCache(IFhirSystemDao<?, ?> systemDao) {
    return ResourceCountCacheUtil.newResourceCountCache(systemDao);
  }

  @Bean
  public IHSearchSortHelper hSearchSortHelper(ISearchParamRegistry searchParamRegistry) {
    return new HSearchSortHelperImpl(searchParamRegistry);
  }

  @Primary
  @Bean
  public LocalContainerEntityManagerFactoryBean entityManagerFactory(
      JpaProperties jpaProperties,
      DataSource dataSource,
      ConfigurableListableBeanFactory beanFactory,
      FhirContext fhirContext,
      JpaStorageSettings storageSettings) {
    LocalContainerEntityManagerFactoryBean factory =
        HapiEntityManagerFactoryUtil.newEntityManagerFactory(beanFactory, fhirContext, storageSettings);
    var props = jpaProperties.getProperties();
    props.putIfAbsent(AvailableSettings.SCANNER, "org.hibernate.boot.archive.scan.internal.DisabledScanner");
    props.putIfAbsent(AvailableSettings.IMPLICIT_NAMING_STRATEGY, SpringImplicitNamingStrategy.class.getName());
    props.putIfAbsent(AvailableSettings.PHYSICAL_NAMING_STRATEGY,
        CamelCaseToUnderscoresNamingStrategy.class.getName());
    props.putIfAbsent(AvailableSettings.FORMAT_SQL, "false");
    props.putIfAbsent(AvailableSettings.SHOW_SQL, "false");
    props.putIfAbsent(AvailableSettings.HBM2DDL_AUTO, "update");
    props.putIfAbsent(AvailableSettings.STATEMENT_BATCH_SIZE, "20");
    props.putIfAbsent(AvailableSettings.USE_QUERY_CACHE, "false");
    props.putIfAbsent(AvailableSettings.USE_SECOND_LEVEL_CACHE, "false");
    props.putIfAbsent(AvailableSettings.USE_STRUCTURED_CACHE, "false");
    props.putIfAbsent(AvailableSettings.USE_MINIMAL_PUTS, "false");
    props.putIfAbsent("hibernate.search.enabled", "false");
    factory.setPersistenceUnitName("HAPI_PU");
    factory.setJpaPropertyMap(props);
    factory.setDataSource(dataSource);
    return factory;
  }

  @Primary
  @Bean
  public JpaTransactionManager transactionManager(EntityManagerFactory entityManagerFactory) {
    JpaTransactionManager manager = new JpaTransactionManager();
    manager.setEntityManagerFactory(entityManagerFactory);
    return manager;
  }

  @Bean
  public RestfulServer restfulServer(
      IFhirSystemDao<?, ?> systemDao,
      ResourceProviderFactory resourceProviderFactory,
      IJpaSystemProvider systemProvider,
      JpaStorageSettings storageSettings,
      ISearchParamRegistry searchParamRegistry,
      IValidationSupport validationSupport,
      DatabaseBackedPagingProvider pagingProvider,
      Optional<SubscriptionTriggeringProvider> subscriptionTriggeringProvider) {
    FhirContext context = systemDao.getContext();
    context.setNarrativeGenerator(new NullNarrativeGenerator());
    RestfulServer server = new RestfulServer(context);
    server.registerProviders(resourceProviderFactory.createProviders());
    server.registerProvider(systemProvider);
    subscriptionTriggeringProvider.ifPresent(server::registerProvider);
    JpaCapabilityStatementProvider capabilities = new JpaCapabilityStatementProvider(
        server, systemDao, storageSettings, searchParamRegistry, validationSupport);
    capabilities.setImplementationDescription("HAPI FHIR R4 JPA server (cm-fhir test partner)");
    server.setServerConformanceProvider(capabilities);
    server.setDefaultResponseEncoding(EncodingEnum.JSON);
    server.setPagingProvider(pagingProvider);
    server.setServerAddressStrategy(new IncomingRequestAddressStrategy());
    return server;
  }
}
