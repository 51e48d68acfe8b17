// $convert: a resource between this guide's profiles and the French national guides
// (fhir_service/operations/convert.py, docs/national-guides.md).

Instance: convert
InstanceOf: OperationDefinition
Usage: #definition
Title: "Convertir vers / depuis un guide national (convert to / from a national guide)"
* insert OperationMetadata(convert)
* name = "Convert"
* title = "Convertir vers / depuis un guide national (convert to / from a national guide)"
* description = "Convertit une ressource vers le profil cible demandé : une équipe (CareTeam cm-care-team) en cercle de soins ANS (cds-ihe-careteam) et inversement. Ce qui ne peut pas être porté est listé en avertissement dans `outcome`, jamais perdu en silence ; une ressource qui ne peut pas être convertie est refusée (422) avec la raison. Converts a resource to the requested target profile (our CareTeam to an ANS Cercle de Soins CareTeam and back); what cannot be carried is listed as warnings."
* comment = "POST [base]/CareTeam/$convert?target=[profile URL or key] with the resource as body (or a Parameters with `resource` and `target`); GET [base]/CareTeam/[id]/$convert?target=… converts a stored team the caller may read. The same on CarePlan, where a plan travels with its goals in a Bundle (and, for TDDUI, its accords, needs and actions as TDDUITaskAction Tasks); a TDDUI plan converted to ours takes `episode` and `author` (references). Keys: cds-careteam, cm-care-team, tddui-projet-perso, cm-care-plan."
* affectsState = false
* code = #convert
* resource[+] = #CareTeam
* resource[+] = #CarePlan
* system = false
* type = true
* instance = true
* parameter[+].name = #target
* parameter[=].use = #in
* parameter[=].min = 1
* parameter[=].max = "1"
* parameter[=].type = #string
* parameter[=].documentation = "Profil cible : URL canonique ou clé (cds-careteam, cm-care-team). Target profile: canonical URL or key."
* parameter[+].name = #episode
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #string
* parameter[=].documentation = "Accompagnement (EpisodeOfCare/id) auquel rattacher un projet TDDUI converti. The episode a converted TDDUI plan belongs to."
* parameter[+].name = #author
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #string
* parameter[=].documentation = "Auteur (PractitionerRole/id) d'un projet TDDUI converti qui n'en a pas. The author of a converted TDDUI plan that has none."
* parameter[+].name = #resource
* parameter[=].use = #in
* parameter[=].min = 0
* parameter[=].max = "1"
* parameter[=].type = #Resource
* parameter[=].documentation = "La ressource à convertir (niveau type), quand le corps est un Parameters. The resource to convert, when the body is a Parameters."
* parameter[+].name = #return
* parameter[=].use = #out
* parameter[=].min = 1
* parameter[=].max = "1"
* parameter[=].type = #Resource
* parameter[=].documentation = "La ressource convertie. The converted resource."
* parameter[+].name = #outcome
* parameter[=].use = #out
* parameter[=].min = 1
* parameter[=].max = "1"
* parameter[=].type = #OperationOutcome
* parameter[=].documentation = "Ce qui n'a pas pu être porté (avertissements). What could not be carried (warnings)."
