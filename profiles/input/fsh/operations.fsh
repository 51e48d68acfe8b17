// OperationDefinitions of the service's own operations (referenced by its CapabilityStatement).

RuleSet: OperationMetadata(id)
* url = "https://interop.cm-sante-mentale.fr/fhir/OperationDefinition/{id}"
* version = "0.1.0"
* status = #draft
* experimental = false
* publisher = "Projet open source cm-fhir"
* jurisdiction = urn:iso:std:iso:3166#FR "France"
* kind = #operation

Instance: import-casefile
InstanceOf: OperationDefinition
Usage: #definition
Title: "Importer un dossier d'accompagnement (import a case file)"
* insert OperationMetadata(import-casefile)
* name = "ImportCasefile"
* title = "Importer un dossier d'accompagnement (import a case file)"
* description = "Importe un dossier d'accompagnement (case file v2, JSON ; un fichier v1 reste accepté) ou une feuille d'objectifs (CSV) et le transforme, par les correspondances déclaratives du service, en ressources conformes aux profils, écrites en une transaction. Ré-importer le même fichier ne crée rien (identité = source.system + localId) ; un fichier qui viole le contrat est rejeté en entier, avec un OperationOutcome qui nomme chaque problème par son chemin JSON. Imports a case file (JSON) or a goals sheet (CSV) into profiled resources, in one transaction; idempotent; all-or-nothing."
* comment = "POST [base]/$import-casefile. Body: the case file itself (Content-Type application/json) or the goals sheet (text/csv); or a Parameters resource with the parameter `casefile`."
* affectsState = true
* code = #import-casefile
* system = true
* type = false
* instance = false
* parameter[+].name = #casefile
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #Binary
* parameter[=].documentation = "Le dossier (application/json) ou la feuille d'objectifs (text/csv), quand le corps de la requête est un Parameters. Omis quand le corps est le fichier lui-même. The case file or goals sheet when the body is a Parameters resource."
* parameter[+].name = #outcome
* parameter[=].use = #out
* parameter[=].min = 1
* parameter[=].max = "1"
* parameter[=].type = #OperationOutcome
* parameter[=].documentation = "Résultat de l'import : informations, avertissements, ou les erreurs qui ont fait rejeter le fichier (chemin JSON dans expression). Outcome of the import."
* parameter[+].name = #response
* parameter[=].use = #out
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #Bundle
* parameter[=].documentation = "La réponse de la transaction (transaction-response) quand l'import a réussi. The transaction-response Bundle when the import succeeded."

Instance: casefile
InstanceOf: OperationDefinition
Usage: #definition
Title: "Exporter le dossier d'accompagnement (export the case file)"
* insert OperationMetadata(casefile)
* name = "Casefile"
* title = "Exporter le dossier d'accompagnement (export the case file)"
* description = "Produit le dossier d'accompagnement (case file v2, JSON) d'un accompagnement, pour les partenaires qui ne lisent que ce format. Returns the case file (JSON) of an episode of care, for partners that only read that format."
* comment = "GET [base]/EpisodeOfCare/[id]/$casefile[?plan=[CarePlan id]]. The response body is the case file JSON (the Binary's content) when the client accepts application/json; a Binary resource otherwise. Without `plan`: the episode's active plan, else the most recently updated one. FHIR written by other clients that does not make a valid case file is exported as it maps by default; with Prefer: handling=strict the export is checked against the case-file contract (JSON Schema and rules) and a file that breaks it is refused (422, an OperationOutcome naming each problem by JSON path). Only what the caller may read is exported (an episode it may not read: 404); a reference the export cannot follow is left out, or, with Prefer: handling=strict, is one more problem of the 422."
* affectsState = false
* code = #casefile
* resource = #EpisodeOfCare
* system = false
* type = false
* instance = true
* parameter[+].name = #plan
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #string
* parameter[=].documentation = "Id logique du projet (CarePlan) à exporter ; par défaut le projet actif de l'accompagnement. Logical id of the CarePlan to export; defaults to the episode's active plan."
* parameter[+].name = #return
* parameter[=].use = #out
* parameter[=].min = 1
* parameter[=].max = "1"
* parameter[=].type = #Binary
* parameter[=].documentation = "Le dossier d'accompagnement (contentType application/json). The case file."
