from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0005_job_kind_stock'),
    ]

    operations = [
        migrations.CreateModel(
            name='DeferredIndex',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('table', models.CharField(max_length=63)),
                ('name', models.CharField(max_length=200, unique=True)),
                ('definition', models.TextField()),
                ('created_at', models.DateTimeField(auto_now_add=True)),
            ],
            options={
                'ordering': ['id'],
            },
        ),
    ]
