/*
 * A thin command-line front end for the official HL7 FHIR validator engine
 * (ca.uhn.hapi.fhir:org.hl7.fhir.validation), used by this project as an offline test oracle.
 *
 * Why this file exists: the runnable "validator_cli" fat jar (org.hl7.fhir.validation.cli) of
 * current versions is not served by the Maven repository this project can reach, but the engine
 * library and all its dependencies are. The official CLI is itself a thin layer over
 * ValidationService / ValidationEngine; this class builds the engine the same way
 * (ValidationService.putBaseEngine: same package loading, same defaults, same
 * "-tx n/a" behaviour) and validates with ValidationEngine.validate, as the CLI does.
 *
 * Two modes:
 *
 *   one-shot (like the CLI):
 *     OracleValidator [-version 4.0.1] [-tx n/a] [-ig X]... [-profile URL]... [-output F]
 *                     [-allow-example-urls true] [-option name=value]... SOURCE...
 *     prints a summary; -output writes the OperationOutcome (one source) or a Bundle of them
 *     (several) as JSON; exit code 1 when any error/fatal issue was found.
 *
 *   server (one JVM for many jobs; used by tests/oracle/hl7_validator.py):
 *     OracleValidator -server [-version 4.0.1] [-tx n/a] [-ig X]...
 *     prints {"ready":true,...} once the base engine is loaded, then reads one JSON job per line
 *     on stdin:  {"id":"..","sources":[paths],"igs":[paths],"profiles":[urls],"options":{..}}
 *     and answers one JSON line per job on stdout:
 *                {"id":"..","ms":N,"results":[{"file":path,"outcome":{OperationOutcome}}]}
 *     or         {"id":"..","error":"message"}.
 *     Each job runs on a copy of the base engine, so a job's igs and sources never leak into
 *     the next one. Within a job, the sources are loaded into the context before validation,
 *     as the CLI does ("loadSources": false to validate each source on its own). "options" maps InstanceValidatorParameters setters (e.g. "bestPracticeLevel":
 *     "Ignore", "allowExampleUrls": true). Logs go to stderr.
 *
 * Licence of the engine: Apache-2.0 (HL7 / HAPI). This file: Apache-2.0, part of cm-fhir.
 */

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.hl7.fhir.r5.model.Bundle;
import org.hl7.fhir.r5.model.OperationOutcome;
import org.hl7.fhir.r5.model.Resource;
import org.hl7.fhir.r5.renderers.RendererFactory;
import org.hl7.fhir.utilities.json.model.JsonArray;
import org.hl7.fhir.utilities.json.model.JsonElement;
import org.hl7.fhir.utilities.json.model.JsonObject;
import org.hl7.fhir.validation.IgLoader;
import org.hl7.fhir.validation.ValidationEngine;
import org.hl7.fhir.validation.ValidatorUtils;
import org.hl7.fhir.validation.service.ValidationService;
import org.hl7.fhir.validation.service.model.InstanceValidatorParameters;
import org.hl7.fhir.validation.service.model.ValidationEngineParameters;

public class OracleValidator {

  private static final String BASE = "base";
  /** TerminologyCache's folder name for "memory only". */
  private static final String TX_CACHE_NONE = "n/a";

  public static void main(String[] args) throws Exception {
    String version = "4.0.1";
    String tx = "n/a";
    String output = null;
    boolean server = false;
    List<String> igs = new ArrayList<>();
    List<String> profiles = new ArrayList<>();
    List<String> sources = new ArrayList<>();
    JsonObject options = new JsonObject();
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      switch (a) {
        case "-version": version = args[++i]; break;
        case "-tx": tx = args[++i]; break;
        case "-ig": igs.add(args[++i]); break;
        case "-profile": profiles.add(args[++i]); break;
        case "-output": output = args[++i]; break;
        case "-server": server = true; break;
        case "-allow-example-urls": options.add("allowExampleUrls", args[++i]); break;
        case "-option": {
          String kv = args[++i];
          int eq = kv.indexOf('=');
          options.add(kv.substring(0, eq), kv.substring(eq + 1));
          break;
        }
        default:
          if (a.startsWith("-")) {
            System.err.println("Unknown option " + a);
            System.exit(2);
          }
          sources.add(a);
      }
    }

    // stdout carries the protocol / the summary only; keep everything else on stderr.
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, "UTF-8");
    System.setOut(System.err);

    long t0 = System.currentTimeMillis();
    ValidationEngine base = buildBase(version, tx, igs);
    long loadMs = System.currentTimeMillis() - t0;

    if (server) {
      serve(base, out, loadMs);
      return;
    }
    if (sources.isEmpty()) {
      System.err.println("No sources to validate");
      System.exit(2);
    }
    JsonObject job = new JsonObject();
    JsonArray src = new JsonArray();
    for (String s : sources) src.add(s);
    job.add("sources", src);
    JsonArray pr = new JsonArray();
    for (String p : profiles) pr.add(p);
    job.add("profiles", pr);
    job.add("options", options);
    Resource r = runJob(base, job, true);
    int errors = 0;
    for (OperationOutcome oo : outcomes(r)) {
      int e = 0, w = 0, n = 0;
      for (OperationOutcome.OperationOutcomeIssueComponent iss : oo.getIssue()) {
        switch (iss.getSeverity()) {
          case FATAL: case ERROR: e++; break;
          case WARNING: w++; break;
          default: n++;
        }
      }
      errors += e;
      out.println((e > 0 ? "*FAILURE*" : "Success") + ": " + fileOf(oo) + ": " + e + " errors, " + w + " warnings, " + n + " notes");
      for (OperationOutcome.OperationOutcomeIssueComponent iss : oo.getIssue()) {
        out.println("  " + iss.getSeverity().toCode() + " @ " + (iss.hasExpression() ? iss.getExpression().get(0).getValue() : "-")
            + " : " + iss.getDetails().getText());
      }
    }
    if (output != null) {
      String json = new org.hl7.fhir.r5.formats.JsonParser().setOutputStyle(org.hl7.fhir.r5.formats.IParser.OutputStyle.PRETTY).composeString(r);
      Files.write(Paths.get(output), json.getBytes(StandardCharsets.UTF_8));
    }
    out.println("Done in " + (System.currentTimeMillis() - t0) + " ms (engine load " + loadMs + " ms)");
    System.exit(errors > 0 ? 1 : 0);
  }

  static ValidationEngine buildBase(String version, String tx, List<String> igs) throws Exception {
    ValidationService service = new ValidationService((RendererFactory) null);
    ValidationEngineParameters ep = new ValidationEngineParameters();
    ep.setSv(version);
    ep.setTxServer("n/a".equals(tx) ? null : tx);
    ep.setIgs(new ArrayList<>(igs));
    // a terminology cache in memory only ("n/a"): with no terminology server a cache on disk
    // holds nothing worth keeping, and would carry one run's answers into the next JVM
    // (without the setting the engine keeps it in [tmp]/default-tx-cache); see freshTxCache
    ep.setTxCache(TX_CACHE_NONE);
    service.putBaseEngine(BASE, ep, new InstanceValidatorParameters());
    return service.getBaseEngine(BASE);
  }

  static void serve(ValidationEngine base, PrintStream out, long loadMs) throws Exception {
    JsonObject ready = new JsonObject();
    ready.add("ready", true);
    ready.add("ms", (int) loadMs);
    ready.add("version", base.getVersion());
    ready.add("packages", base.getContext().loadedPackageSummary());
    out.println(compose(ready));
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      line = line.trim();
      if (line.isEmpty()) continue;
      JsonObject resp = new JsonObject();
      long t = System.currentTimeMillis();
      try {
        JsonObject job = org.hl7.fhir.utilities.json.parser.JsonParser.parseObject(line);
        if (job.has("id")) resp.add("id", job.asString("id"));
        if (job.has("quit")) {
          out.println(compose(resp));
          break;
        }
        Resource r = runJob(base, job, false);
        JsonArray results = new JsonArray();
        org.hl7.fhir.r5.formats.JsonParser rp = new org.hl7.fhir.r5.formats.JsonParser();
        for (OperationOutcome oo : outcomes(r)) {
          JsonObject res = new JsonObject();
          String file = fileOf(oo);
          if (file != null) res.add("file", file);
          res.add("outcome", org.hl7.fhir.utilities.json.parser.JsonParser.parseObject(rp.composeString(oo)));
          results.add(res);
        }
        resp.add("ms", (int) (System.currentTimeMillis() - t));
        resp.add("results", results);
      } catch (Throwable e) {
        e.printStackTrace();
        resp.add("ms", (int) (System.currentTimeMillis() - t));
        resp.add("error", e.getClass().getSimpleName() + ": " + e.getMessage());
      }
      out.println(compose(resp));
    }
  }

  /** Runs one job; on a copy of the base engine unless onBase (the one-shot mode's only job). */
  static Resource runJob(ValidationEngine base, JsonObject job, boolean onBase) throws Exception {
    boolean loadSources = !job.has("loadSources") || job.asBoolean("loadSources");
    // Every server job runs on a copy (~0.3 s), even one that loads nothing: validating on the
    // base engine itself changed it for all later jobs and copies (measured: after the official
    // case ips-nz-pj ran on the base engine, every later job failed the translation 'lang' code
    // 'en' that a fresh JVM accepts), which made the cases' verdicts depend on their order.
    ValidationEngine engine = onBase ? base : new ValidationEngine(base);
    // A fresh terminology cache for every job, as a freshly built engine has: the copy
    // constructor shares the base's TerminologyCache object, and what one job caches there is
    // answered differently to the next (measured: a translation's 'lang' code 'en' validates
    // the first time and then fails with "The System URI could not be determined for the code
    // 'en' in the ValueSet all-languages" in every later job, copy or base engine alike).
    freshTxCache(engine);
    IgLoader loader = new IgLoader(engine.getPcm(), engine.getContext(), engine.getVersion(), engine.isDebug());
    boolean loaded = false;
    for (String ig : strings(job, "igs")) {
      loader.loadIg(engine.getIgs(), engine.getBinaries(), ig, false);
      loaded = true;
    }
    if (loaded) {
      engine.prepare(); // snapshots for profiles given only as differentials, as the CLI does
    }
    InstanceValidatorParameters p = new InstanceValidatorParameters(engine.getDefaultInstanceValidatorParameters());
    p.setProfiles(strings(job, "profiles"));
    if (job.has("options")) {
      applyOptions(p, job.getJsonObject("options"));
    }
    List<ValidatorUtils.SourceFile> refs = new ArrayList<>();
    // like the CLI, every source is first loaded into the (job's copy of the) context, so sources
    // validated together can resolve each other; "loadSources": false validates each on its own
    Resource r = engine.validate(strings(job, "sources"), p, refs, null, loadSources ? loader : null, false, 0, true);
    if (r == null) {
      throw new IllegalArgumentException("no source found to validate");
    }
    return r;
  }

  /** Gives the engine's context a new, empty, memory-only terminology cache: the state of a
   *  freshly built base engine (ValidationService.putBaseEngine installs one the same way). */
  static void freshTxCache(ValidationEngine engine) throws Exception {
    engine.getContext().initTxCache(
        new org.hl7.fhir.r5.terminologies.utilities.TerminologyCache(new Object(), TX_CACHE_NONE));
  }

  /** Sets InstanceValidatorParameters options by name through their setters (boolean, String, int, enum). */
  static void applyOptions(InstanceValidatorParameters p, JsonObject options) throws Exception {
    for (String name : options.getNames()) {
      JsonElement v = options.get(name);
      String setter = "set" + Character.toUpperCase(name.charAt(0)) + name.substring(1);
      Method m = null;
      for (Method cand : p.getClass().getMethods()) {
        if (cand.getName().equals(setter) && cand.getParameterCount() == 1) {
          m = cand;
          break;
        }
      }
      if (m == null) throw new IllegalArgumentException("unknown option " + name);
      Class<?> t = m.getParameterTypes()[0];
      String s = v.asJsonPrimitive().getValue();
      Object arg;
      if (t == boolean.class || t == Boolean.class) arg = Boolean.valueOf(s);
      else if (t == int.class || t == Integer.class) arg = Integer.valueOf(s);
      else if (t == String.class) arg = s;
      else if (t.isEnum()) {
        Object found = null;
        for (Object c : t.getEnumConstants()) {
          if (((Enum<?>) c).name().equalsIgnoreCase(s)) found = c;
        }
        if (found == null) {
          Method fromCode = null;
          try {
            fromCode = t.getMethod("fromCode", String.class);
          } catch (NoSuchMethodException e) {
            // no fromCode
          }
          if (fromCode != null) found = fromCode.invoke(null, s);
        }
        if (found == null) throw new IllegalArgumentException("bad value " + s + " for option " + name);
        arg = found;
      } else {
        throw new IllegalArgumentException("option " + name + " has unsupported type " + t.getName());
      }
      m.invoke(p, arg);
    }
  }

  static List<String> strings(JsonObject job, String name) {
    List<String> l = new ArrayList<>();
    if (job.has(name)) {
      for (JsonElement e : job.getJsonArray(name)) {
        l.add(e.asJsonPrimitive().getValue());
      }
    }
    return l;
  }

  static List<OperationOutcome> outcomes(Resource r) {
    List<OperationOutcome> l = new ArrayList<>();
    if (r instanceof Bundle) {
      for (Bundle.BundleEntryComponent e : ((Bundle) r).getEntry()) {
        l.add((OperationOutcome) e.getResource());
      }
    } else if (r instanceof OperationOutcome) {
      l.add((OperationOutcome) r);
    }
    return l;
  }

  static String fileOf(OperationOutcome oo) {
    for (org.hl7.fhir.r5.model.Extension ext : oo.getExtension()) {
      if (ext.getUrl() != null && ext.getUrl().endsWith("operationoutcome-file") && ext.hasValue()) {
        return ext.getValue().primitiveValue();
      }
    }
    return null;
  }

  static String compose(JsonObject o) throws Exception {
    return org.hl7.fhir.utilities.json.parser.JsonParser.compose(o, false).replace("\n", " ");
  }
}
