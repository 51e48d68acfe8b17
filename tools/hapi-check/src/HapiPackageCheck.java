// Loads a FHIR npm package (our guide) into HAPI FHIR's R4 validation support chain and
// validates resources with HAPI's FhirInstanceValidator. Offline: no terminology server.
//
//   java -cp CLASSPATH:classes HapiPackageCheck PACKAGE.tgz FILE.json...
//
// Prints one line per definition type loaded ("loaded StructureDefinition 23"), then, for each
// file, one line: the file name, a tab, and HAPI's OperationOutcome as compact JSON.

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ValidationResult;
import java.io.FileInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.PrePopulatedValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.instance.model.api.IBaseResource;
import org.hl7.fhir.utilities.npm.NpmPackage;

public final class HapiPackageCheck {
  private static final java.util.Set<String> DEFINITIONS = java.util.Set.of(
      "StructureDefinition", "ValueSet", "CodeSystem", "SearchParameter", "ConceptMap",
      "OperationDefinition");

  public static void main(String[] args) throws Exception {
    FhirContext ctx = FhirContext.forR4();
    NpmPackage pkg;
    try (InputStream in = new FileInputStream(args[0])) {
      pkg = NpmPackage.fromPackage(in);
    }
    if (!"4.0.1".equals(pkg.fhirVersion())) {
      throw new IllegalStateException("package FHIR version " + pkg.fhirVersion());
    }
    PrePopulatedValidationSupport guide = new PrePopulatedValidationSupport(ctx);
    Map<String, Integer> loaded = new TreeMap<>();
    for (String file : pkg.list("package")) {
      if (!file.endsWith(".json") || file.equals("package.json") || file.startsWith(".")) {
        continue;
      }
      IBaseResource res;
      try (InputStream in = pkg.load("package", file)) {
        res = ctx.newJsonParser().parseResource(in);
      }
      String type = ctx.getResourceType(res);
      if (DEFINITIONS.contains(type)) {
        guide.addResource(res);
        loaded.merge(type, 1, Integer::sum);
      }
    }
    for (Map.Entry<String, Integer> e : loaded.entrySet()) {
      System.out.println("loaded " + e.getKey() + " " + e.getValue());
    }
    ValidationSupportChain chain = new ValidationSupportChain(
        guide,
        new DefaultProfileValidationSupport(ctx),
        new CommonCodeSystemsTerminologyService(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx),
        new SnapshotGeneratingValidationSupport(ctx),
        new UnknownCodeSystemWarningValidationSupport(ctx));
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    FhirValidator validator = ctx.newValidator().registerValidatorModule(module);
    for (int i = 1; i < args.length; i++) {
      String text = Files.readString(Path.of(args[i]), StandardCharsets.UTF_8);
      ValidationResult result = validator.validateWithResult(text);
      String outcome = ctx.newJsonParser().encodeResourceToString(result.toOperationOutcome());
      System.out.println(args[i] + "\t" + outcome);
    }
  }
}
