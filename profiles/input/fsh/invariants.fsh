// FHIRPath invariants for the rules of case management that matter. Each has a failing
// example in tests/ig/invalid/ and is evaluated by tests/ig/test_ig_invariants.py.
// Expressions use no resolve() so that any FHIRPath engine can check them on one resource.

Invariant: cm-team-1
Description: "Une équipe active a un et un seul case manager en fonction (rôle case-manager sans date de fin). An active care team has exactly one current case manager (role case-manager, no end date)."
Severity: #error
Expression: "status = 'active' implies participant.where(role.coding.where(system = 'https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function' and code = 'case-manager').exists() and period.end.empty()).count() = 1"

Invariant: cm-team-2
Description: "Chaque participant a une fonction dans l'équipe (code du CodeSystem cm-team-function). Every participant has a team function code."
Severity: #error
Expression: "participant.all(role.coding.where(system = 'https://interop.cm-sante-mentale.fr/fhir/CodeSystem/cm-team-function').exists())"

Invariant: cm-ep-1
Description: "Un accompagnement actif a un case manager. An active accompaniment has a case manager."
Severity: #error
Expression: "status = 'active' implies careManager.exists()"

Invariant: cm-ep-2
Description: "Un accompagnement terminé a une date de fin. A finished accompaniment has an end date."
Severity: #error
Expression: "status = 'finished' implies period.end.exists()"

Invariant: cm-cp-1
Description: "Un projet accepté par la personne la compte parmi ses contributeurs (co-construction). A plan the person agreed with lists the person as a contributor."
Severity: #error
Expression: "extension.where(url = 'https://interop.cm-sante-mentale.fr/fhir/StructureDefinition/cm-person-agreement').extension.where(url = 'status').where(value = 'agree').exists() implies contributor.reference.intersect(subject.reference).exists()"

Invariant: cm-cp-2
Description: "Une action ne vise que des objectifs du projet (CarePlan.goal). An action only addresses goals of the plan."
Severity: #error
Expression: "activity.detail.goal.all(reference.empty() or %resource.goal.reference contains reference)"

Invariant: cm-goal-1
Description: "L'échéance d'un objectif n'est pas antérieure à son début. A goal is not due before it starts."
Severity: #error
Expression: "start.ofType(date).empty() or target.due.ofType(date).all($this >= %resource.start.ofType(date))"

Invariant: cm-goal-2
Description: "Un objectif terminé (completed) indique s'il a été atteint (achievementStatus). A completed goal states its achievement."
Severity: #error
Expression: "lifecycleStatus = 'completed' implies achievementStatus.exists()"

Invariant: cm-pat-1
Description: "L'INS (NIR ou NIA) n'est transmis qu'avec une identité qualifiée (statut QUAL), règle d'identitovigilance (RNIV). The INS is only sent with a qualified identity."
Severity: #error
Expression: "identifier.where(system = 'urn:oid:1.2.250.1.213.1.4.8' or system = 'urn:oid:1.2.250.1.213.1.4.9' or system = 'urn:oid:1.2.250.1.213.1.4.10' or system = 'urn:oid:1.2.250.1.213.1.4.11').exists() implies extension.where(url = 'https://hl7.fr/ig/fhir/core/StructureDefinition/fr-core-identity-reliability').extension.where(url = 'identityStatus').value.ofType(Coding).where(system = 'https://hl7.fr/ig/fhir/core/CodeSystem/fr-core-cs-v2-0445' and code = 'QUAL').exists()"

Invariant: cm-rp-1
Description: "Le rôle de la personne de l'entourage est codé dans TRE_R260 (aidant, personne de confiance, responsable légal, personne à prévenir). The role of a related person is coded with TRE_R260."
Severity: #error
Expression: "relationship.coding.where(system = 'https://mos.esante.gouv.fr/NOS/TRE_R260-HL7RoleClass/FHIR/TRE-R260-HL7RoleClass').exists()"
