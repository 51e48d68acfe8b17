// CodeSystems owned by the guide. No national code list exists for these notions
// (see DOMAIN.md): displays in French, English designations, definitions in French.

CodeSystem: CMLifeDomain
Id: cm-life-domain
Title: "Domaines de vie (Life domains)"
Description: "Domaines de vie explorés par le bilan fonctionnel et auxquels se rattachent les objectifs du projet personnalisé. Life domains explored by the functional review and used to classify the goals of the personal plan."
* insert LocalCodeSystem
* #sante "Santé" "Santé physique et psychique, suivi, traitement, compréhension de la maladie."
* #loisirs "Loisirs" "Activités de loisir, sport, culture, centres d'intérêt."
* #scolarite-formation "Scolarité / formation" "Études, scolarité, formation initiale ou continue."
* #emploi "Emploi" "Travail, recherche d'emploi, insertion professionnelle."
* #vie-affective-sexualite "Vie affective et sexuelle" "Relations affectives, vie de couple, sexualité."
* #organisation-quotidien "Organisation du quotidien" "Organisation de la vie quotidienne, y compris démarches administratives courantes, budget et revenus."
* #hygiene-de-vie "Hygiène de vie" "Alimentation, sommeil, activité physique, conduites à risque."
* #vie-sociale "Vie sociale" "Relations amicales et familiales, participation à la vie de la communauté."
* #logement "Logement" "Accès au logement et maintien dans le logement."
* #droits-demarches "Accès aux droits et démarches" "Ouverture et renouvellement des droits (MDPH, prestations, couverture sociale), démarches."
* insert En(sante, "Health")
* insert En(loisirs, "Leisure")
* insert En(scolarite-formation, "School / training")
* insert En(emploi, "Employment")
* insert En(vie-affective-sexualite, "Emotional and sexual life")
* insert En(organisation-quotidien, "Organisation of daily life")
* insert En(hygiene-de-vie, "Lifestyle")
* insert En(vie-sociale, "Social life")
* insert En(logement, "Housing")
* insert En(droits-demarches, "Access to rights and procedures")

CodeSystem: CMCarePillar
Id: cm-care-pillar
Title: "Piliers du soin (Pillars of care)"
Description: "Les quatre piliers du soin autour desquels le case manager fait l'interface ; chaque action du projet personnalisé relève d'un pilier. The four pillars of care around which the case manager is the interface; each action of the plan belongs to one pillar."
* insert LocalCodeSystem
* #medicaments "Médicaments" "Traitement médicamenteux : compréhension, observance, effets."
* #strategies-psychologiques "Attitudes et stratégies psychologiques" "Psychothérapies, psychoéducation, remédiation, stratégies d'adaptation."
* #hygiene-de-vie "Hygiène de vie" "Sommeil, alimentation, activité physique, conduites à risque."
* #soutien "Soutien" "Soutien de l'entourage, des intervenants et de la communauté, soutien financier, retour aux études ou à l'emploi."
* insert En(medicaments, "Medication")
* insert En(strategies-psychologiques, "Psychological attitudes and strategies")
* insert En(hygiene-de-vie, "Lifestyle")
* insert En(soutien, "Support")

CodeSystem: CMProgramme
Id: cm-programme
Title: "Programmes d'accompagnement (Case-management programmes)"
Description: "Programme dans lequel s'inscrit un accompagnement (EpisodeOfCare.type). Programme an accompaniment belongs to."
* insert LocalCodeSystem
* #intervention-precoce "Intervention précoce" "Accompagnement de jeunes présentant des troubles psychiques émergents ou un premier épisode psychotique."
* #rehabilitation-psychosociale "Réhabilitation psychosociale" "Accompagnement orienté vers le rétablissement et la réinsertion."
* #coordination-parcours-complexe "Coordination de parcours complexe" "Coordination d'un parcours complexe par un dispositif d'appui (DAC) ou équivalent."
* #transition-sortie-hospitalisation "Transition / sortie d'hospitalisation" "Accompagnement d'une transition : sortie d'hospitalisation, passage à l'âge adulte."
* insert En(intervention-precoce, "Early intervention")
* insert En(rehabilitation-psychosociale, "Psychosocial rehabilitation")
* insert En(coordination-parcours-complexe, "Complex care pathway coordination")
* insert En(transition-sortie-hospitalisation, "Transition / hospital discharge")

CodeSystem: CMCaseManagementModel
Id: cm-case-management-model
Title: "Modèles de case management (Case-management models)"
Description: "Modèle(s) de case management appliqué(s) dans un accompagnement ; un territoire peut en combiner plusieurs. Case-management model(s) applied in an accompaniment."
* insert LocalCodeSystem
* #courtage "Courtage" "Modèle de courtage (brokerage) : orientation et liaison vers les services existants."
* #clinique "Clinique" "Modèle clinique : le case manager assure aussi des interventions cliniques."
* #readaptation "Réadaptation" "Modèle de réadaptation : développement des habiletés de la personne."
* #intensif "Intensif" "Suivi intensif dans le milieu de vie (type ACT / SIM)."
* #forces "Centré sur les forces" "Modèle centré sur les forces (strengths model) de la personne et de son environnement."
* insert En(courtage, "Brokerage")
* insert En(clinique, "Clinical")
* insert En(readaptation, "Rehabilitation")
* insert En(intensif, "Intensive")
* insert En(forces, "Strengths-based")

CodeSystem: CMTeamFunction
Id: cm-team-function
Title: "Fonctions dans l'équipe (Team functions)"
Description: "Fonction d'un participant dans l'équipe d'accompagnement (CareTeam.participant.role). La profession réglementée est portée par PractitionerRole.code (nomenclatures NOS). Function of a participant in the care team; the regulated profession is carried by PractitionerRole.code (NOS tables)."
* insert LocalCodeSystem
* ^hierarchyMeaning = #is-a
* #case-manager "Case manager / référent de parcours" "Professionnel référent qui coordonne l'accompagnement et est l'interlocuteur unique de la personne."
* #psychiatre "Psychiatre" "Médecin psychiatre intervenant dans l'accompagnement."
* #psychologue "Psychologue" "Psychologue intervenant dans l'accompagnement."
* #neuropsychologue "Neuropsychologue" "Neuropsychologue intervenant dans l'accompagnement."
* #infirmier "Infirmier·e" "Infirmier·e intervenant dans l'accompagnement."
* #assistant-social "Assistant·e de service social" "Assistant·e de service social intervenant dans l'accompagnement."
* #educateur "Éducateur·ice" "Éducateur·ice spécialisé·e ou moniteur·ice éducateur·ice."
* #ergotherapeute "Ergothérapeute" "Ergothérapeute intervenant dans l'accompagnement."
* #pair-aidant "Pair-aidant·e / médiateur·ice de santé pair" "Intervenant pair : médiateur·ice de santé pair, pair-aidant·e professionnel·le."
* #medecin-generaliste "Médecin généraliste" "Médecin généraliste, le plus souvent médecin traitant."
* #aidant "Aidant·e" "Proche aidant de la personne (entourage)."
* #personne-accompagnee "Personne accompagnée" "La personne elle-même, membre de son équipe."
* #other "Autre fonction" "Autre fonction, précisée en texte libre (CodeableConcept.text)."
* insert En(case-manager, "Case manager")
* insert En(psychiatre, "Psychiatrist")
* insert En(psychologue, "Psychologist")
* insert En(neuropsychologue, "Neuropsychologist")
* insert En(infirmier, "Nurse")
* insert En(assistant-social, "Social worker")
* insert En(educateur, "Specialised educator")
* insert En(ergotherapeute, "Occupational therapist")
* insert En(pair-aidant, "Peer support worker")
* insert En(medecin-generaliste, "General practitioner")
* insert En(aidant, "Informal caregiver")
* insert En(personne-accompagnee, "Person supported")
* insert En(other, "Other function")

CodeSystem: CMPlanType
Id: cm-plan-type
Title: "Types de projet personnalisé (Personal plan types)"
Description: "Nature du plan (CarePlan.category). Le médico-social utilise aussi TRE_R390. Kind of personal plan; the médico-social sector also uses TRE_R390."
* insert LocalCodeSystem
* #projet-soins-vie "Projet de soins et de vie" "Projet personnalisé co-construit avec la personne dans un accompagnement de case management."
* #ppcs "Plan personnalisé de coordination en santé (PPCS)" "Plan de coordination d'un parcours complexe, tenu notamment par les DAC."
* insert En(projet-soins-vie, "Care and life plan")
* insert En(ppcs, "Personalised health coordination plan")

CodeSystem: CMServiceType
Id: cm-service-type
Title: "Prestations demandées (Requested services)"
Description: "Ce que demande une orientation (ServiceRequest.code). What a referral asks for."
* insert LocalCodeSystem
* #accompagnement-case-management "Accompagnement par un case manager" "Demande d'accompagnement par un case manager / référent de parcours."
* #evaluation-fonctionnelle "Bilan fonctionnel" "Demande d'un bilan fonctionnel de la vie quotidienne."
* insert En(accompagnement-case-management, "Case-management accompaniment")
* insert En(evaluation-fonctionnelle, "Functional review")

CodeSystem: CMConsentCategory
Id: cm-consent-category
Title: "Objets du consentement au partage (Sharing consent categories)"
Description: "Ce que couvre un consentement au partage entre structures (Consent.category). What a consent to share between structures covers."
* insert LocalCodeSystem
* #shared-care-plan "Partage du projet personnalisé" "Partage du projet personnalisé, de l'équipe et de l'accompagnement entre les structures désignées."
* insert En(shared-care-plan, "Shared care plan")
