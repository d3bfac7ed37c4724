from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("shops", "0005_retention_months"),
    ]

    operations = [
        migrations.AddField(
            model_name="shop",
            name="combined_score",
            field=models.BooleanField(default=False),
        ),
    ]
